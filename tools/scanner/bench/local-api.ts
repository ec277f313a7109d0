// A local HTTP API for the scan benchmark, in its own process so that serving requests does not
// compete with the scanner's main thread: the contract test double of the hash-check bulk API,
// loaded with the hashes given as one JSON line on stdin. Prints its URL, serves until stdin closes.
import { startContractDouble, type ListedHash } from '../test/contract-double';

let input = '';
let started = false;
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  input += chunk;
  if (started || !input.includes('\n')) return;
  started = true;
  void startContractDouble({ key: 'bench', entries: JSON.parse(input.split('\n')[0]!) as ListedHash[] }).then((api) => {
    process.stdout.write(api.url + '\n');
    process.stdin.on('end', () => void api.close().then(() => process.exit(0)));
  });
});
