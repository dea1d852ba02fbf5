import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { EXPERIMENT_KIND_TAG, isRetryable, isStaleConnection, MlflowClient, MlflowHttpError } from './mlflow-client';
import { FakeMlflow } from './testing/fake-mlflow';

function blockEventLoop(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // a training step that does not yield
  }
}

describe('MlflowClient over a real socket', () => {
  it('reads an answer that arrived while the event loop was blocked past the request timeout', async () => {
    // A server in another process that says 'got' on each request and answers 100 ms later.
    const child = spawn(process.execPath, ['-e', `
      const run = { run: { info: { run_id: 'r1', experiment_id: '1', status: 'RUNNING', artifact_uri: 'mlflow-artifacts:/1/r1/artifacts' }, data: {} } };
      require('node:http').createServer((q, s) => { console.log('got'); setTimeout(() => s.end(JSON.stringify(run)), 100); })
        .listen(0, '127.0.0.1', function () { console.log('port ' + this.address().port); });`], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines: string[] = [];
    const waiters: Array<() => void> = [];
    child.stdout!.on('data', (b: Buffer) => {
      lines.push(...b.toString().split('\n').filter(Boolean));
      waiters.splice(0).forEach((w) => w());
    });
    const line = async (re: RegExp): Promise<string> => {
      for (;;) {
        const hit = lines.find((l) => re.test(l));
        if (hit) {
          lines.splice(lines.indexOf(hit), 1);
          return hit;
        }
        await new Promise<void>((r) => waiters.push(r));
      }
    };
    try {
      const port = (await line(/^port /)).slice(5);
      const client = new MlflowClient({ trackingUri: `http://127.0.0.1:${port}`, timeoutMs: 300 });
      const pending = client.getRun('r1');
      await line(/^got$/); // the request is at the server, its answer comes in 100 ms
      await new Promise((r) => setImmediate(r)); // block from the check phase: the next turn runs overdue timers before reading sockets
      blockEventLoop(1500); // the answer arrives meanwhile
      await expect(pending).resolves.toMatchObject({ info: { run_id: 'r1' } });

      const impatient = new MlflowClient({ trackingUri: `http://127.0.0.1:${port}`, timeoutMs: 20 }); // answers take 100 ms
      const err = await impatient.getRun('r1').catch((e: unknown) => e);
      expect((err as Error).name).toBe('TimeoutError');
      expect(isRetryable(err)).toBe(true);
    } finally {
      child.kill();
    }
  });
});

describe('error classes', () => {
  it('retries network trouble and 5xx/429/408, not 4xx or local errors', () => {
    expect(isRetryable(new TypeError('fetch failed'))).toBe(true);
    expect(isRetryable(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isRetryable(new MlflowHttpError('POST', 'u', 503, undefined, ''))).toBe(true);
    expect(isRetryable(new MlflowHttpError('POST', 'u', 429, undefined, ''))).toBe(true);
    expect(isRetryable(new MlflowHttpError('POST', 'u', 400, 'INVALID_PARAMETER_VALUE', ''))).toBe(false);
    expect(isRetryable(Object.assign(new Error("ENOENT: no such file or directory, open 'x'"), { code: 'ENOENT' }))).toBe(false);
    expect(isRetryable(new Error('tracking: line 3 is not valid JSON'))).toBe(false);
    const stale = Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) });
    expect(isStaleConnection(stale)).toBe(true);
    expect(isStaleConnection(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }))).toBe(false);
  });
});

describe('experiments this project creates', () => {
  it('are of the model-training kind with a description, also when they existed without the tags', async () => {
    const fake = new FakeMlflow();
    const client = new MlflowClient({ trackingUri: 'http://fake:5000', fetch: fake.fetch });
    const id = await client.getOrCreateExperiment('unigrad-fmnist');
    const tags = fake.experimentTags.get(id)!;
    expect(tags.get(EXPERIMENT_KIND_TAG)).toBe('custom_model_development');
    expect(tags.get('mlflow.note.content')).toMatch(/preset "fmnist"/);
    // An experiment created before (no tags) gets them on first use; one with a kind keeps it.
    fake.experiments.set('old', '99');
    fake.experimentTags.set('99', new Map());
    expect(await client.getOrCreateExperiment('old')).toBe('99');
    expect(fake.experimentTags.get('99')!.get(EXPERIMENT_KIND_TAG)).toBe('custom_model_development');
    fake.experiments.set('genai', '98');
    fake.experimentTags.set('98', new Map([[EXPERIMENT_KIND_TAG, 'genai_development']]));
    await client.getOrCreateExperiment('genai');
    expect(fake.experimentTags.get('98')!.get(EXPERIMENT_KIND_TAG)).toBe('genai_development');
  });
});
