// The one Node API the Node entry point uses, declared here so that the package needs no
// @types/node to build.
declare module 'node:fs' {
  export function readFileSync(path: URL): Uint8Array;
}
