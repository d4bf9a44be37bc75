// The browser-side peers of @tollgate/client's decodeClaims, bundled by esbuild for the page.
export { jwtDecode } from 'jwt-decode';
export { decodeJwt } from 'jose';
