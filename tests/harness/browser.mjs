// Launches Debian's headless Chromium through playwright-core (no browser downloads).
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** A fresh headless Chromium with the flags this offline, root-run machine needs. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Background networking is refused by the sandbox's closed network; the flags keep
    // Chromium from trying (and from logging every refusal).
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * Collects every Content-Security-Policy violation `page` reports (the
 * `securitypolicyviolation` events and Chromium's console lines), and page errors, which a
 * refused script usually causes. Call before the first navigation.
 */
export async function watchCsp(page) {
  const violations = [];
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to|securitypolicyviolation/i.test(m.text())) violations.push(m.text());
  });
  page.on('pageerror', (e) => violations.push(`page error: ${e.message}`));
  // Injected by devtools before any script of the page, so the page's own CSP does not apply.
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`securitypolicyviolation: ${e.effectiveDirective} blocked ${e.blockedURI || 'inline'} (${e.sourceFile}:${e.lineNumber})`);
    });
  });
  return violations;
}
