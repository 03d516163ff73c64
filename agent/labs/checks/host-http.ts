/*
 * Check "host-http": behaviour of a published port. `run -p 8080:80` writes DNAT rules into the
 * agent's nftables table; whether they work is shown by a real GET from the host itself to
 * address:port — the path a NodePort Service's traffic takes into a pod. `expect: false`: nothing
 * answers there.
 */
import { request } from 'node:http';
import type { CheckParamsByKind } from '../format';
import type { LabContext } from '../context';
import { failIf } from './outcome';

function get(url: string): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = request(url, { timeout: 3_000 }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk.slice(0, 4096)));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (error) => resolve({ error: error.message }));
    req.end();
  });
}

export async function checkHostHttp(params: CheckParamsByKind['host-http'], _context: LabContext): Promise<void> {
  const url = `http://${params.address ?? '127.0.0.1'}:${params.port}${params.path ?? '/'}`;
  const answer = await get(url);
  const answered = !('error' in answer) && answer.status === 200 && (params.contains === undefined || answer.body.includes(params.contains));
  const said = 'error' in answer ? answer.error : `HTTP ${answer.status}: "${answer.body.trim().slice(0, 60)}"`;
  if (params.expect === false) failIf(answered, `GET ${url} from the host answered ${said}`);
  else failIf(!answered, `GET ${url} from the host: ${said}`);
}
