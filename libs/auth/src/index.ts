export { bearerToken, parseBasicCredentials } from './headers';
export { authenticateStatic, parseStaticKeys, type StaticKey, type StaticPrincipal } from './static-keys';
export { digestsEqual, issueApiKey, parseApiKey, sha256Hex, type IssuedApiKey } from './api-keys';
