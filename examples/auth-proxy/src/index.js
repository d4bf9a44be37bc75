// The app's Worker: Tollgate's paths go to the Tollgate Worker over the `TOLLGATE` service
// binding, unchanged (method, headers, cookies, body); everything else is the app's files.
// The request keeps the app's URL, so Tollgate sees the app's origin as its own: the refresh
// cookie is set for the app's host, and the browser's requests are same-origin.
//
// A Pages Function does the same in functions/auth/[[path]].js:
//   export const onRequest = ({ request, env }) => env.TOLLGATE.fetch(request);
// (with the service binding set in the Pages project), plus one such file per other path
// the app uses (/me, /admin/...).

/** Tollgate's routes: `run_worker_first` in wrangler.toml sends exactly these here. */
const TOLLGATE_PATHS = /^\/(?:health$|me$|auth\/|admin\/|\.well-known\/)/;

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (TOLLGATE_PATHS.test(pathname)) return env.TOLLGATE.fetch(request);
    return env.ASSETS.fetch(request);
  },
};
