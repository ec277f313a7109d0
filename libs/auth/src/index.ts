export { bearerToken, parseBasicCredentials } from './headers';
export { authenticateStatic, parseStaticKeys, type StaticKey } from './static-keys';
export { digestsEqual, issueApiKey, parseApiKey, sha256Hex, type IssuedApiKey } from './api-keys';
