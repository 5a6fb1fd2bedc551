import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { SyncSummary } from '../../src/pipeline/sync-counts.ts';
import { PHSYNC_BIN, runCli } from '../support/run-cli.ts';
import { tempDir } from '../support/temp-dir.ts';

const SAMPLE = fileURLToPath(new URL('../../fixtures/sample-directory.ldif', import.meta.url));
const ERASE_LINE = '\r\x1b[K';

/** Runs the CLI with stdin, stdout and stderr on a real pseudo-terminal (util-linux `script`). */
function runOnTerminal(args: readonly string[], cwd: string): { code: number | null; output: string } {
  const quoted = [process.execPath, PHSYNC_BIN, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  const result = spawnSync('script', ['-q', '-e', '-c', quoted, '/dev/null'], { cwd, encoding: 'utf8', env: { ...process.env, COLUMNS: '120' }, timeout: 120_000 });
  return { code: result.status, output: result.stdout };
}

describe('what a person at a terminal sees', () => {
  it('a progress line on a terminal, erased before the summary; none when stderr is a pipe', async () => {
    using dir = tempDir();
    const ldif = dir.file('d.ldif');
    assert.equal((await runCli(['fixture', '--users', '6000', '--out', ldif])).code, 0);
    const args = ['sync', '--source', ldif, '--target', `sqlite:${dir.file('t.db')}`, '--state', dir.file('s.db'), '--workers', '1'];
    const first = runOnTerminal(args, dir.path);
    assert.equal(first.code, 0, first.output);
    // Drawn at least once with its counts and rate, and erased: the summary starts on a clean line.
    assert.match(first.output, /\r\x1b\[Kdefault: [\d,]+ users · [\d,]+ users\/s/u);
    // Erased for good at the end: after the last erase come whole log lines, then the summary.
    assert.match(first.output, /\r\x1b\[K(?:phsync: [^\r\n]*\r\n)*phsync sync run 1: succeeded\r\n(?:[^\r\x1b]*\r\n)+$/u);
    // The second full run knows the total from the first: a percentage and an ETA.
    const second = runOnTerminal([...args, '--full'], dir.path);
    assert.equal(second.code, 0, second.output);
    assert.match(second.output, /default: [\d,]+ of ~6,000 users \(\d+%\)/u);

    const piped = await runCli([...args, '--full']);
    assert.equal(piped.code, 0, piped.stderr);
    assert.ok(!piped.stderr.includes('\x1b['), 'no escape sequences when stderr is not a terminal');
    const quiet = runOnTerminal([...args, '--full', '--no-progress'], dir.path);
    assert.equal(quiet.code, 0);
    assert.ok(!quiet.output.includes(ERASE_LINE), '--no-progress draws nothing');
  });

  it('JSON logs: one pino object per line, with the run\'s end as a structured line, and no secret', async () => {
    using dir = tempDir();
    const token = 'tok-3f9a1c77e2b54d0e9bb1';
    writeFileSync(dir.file('token'), `${token}\n`, { mode: 0o600 });
    // A careless tenant that refuses every batch and echoes the token in its answer: the engine quotes the
    // answer in its error, and the logger must still never print the token.
    const server = createServer((req, res) => {
      req.resume();
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ message: `we did not expect the header ${req.headers.authorization ?? ''}` }));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    let run;
    try {
      run = await runCli(['sync', '--source', SAMPLE, '--target', `http://127.0.0.1:${port}/tenant`, '--target-token-file', dir.file('token'), '--state', dir.file('s.db'), '--log-format', 'json', '--log-level', 'debug', '--json']);
    } finally {
      server.close();
    }
    assert.equal(run.code, 1, run.stderr);
    const lines = run.stderr.trim().split('\n');
    const records = lines.map((l) => JSON.parse(l) as { level: number; time: number; msg: string; pid: number; counts?: SyncSummary['counts']; status?: string });
    for (const r of records) {
      assert.equal(typeof r.level, 'number');
      assert.equal(typeof r.time, 'number');
      assert.equal(typeof r.msg, 'string');
    }
    assert.ok(records.some((r) => /^kernel \S+, \d+ worker threads?/.test(r.msg)), 'the kernel choice is logged');
    const end = records.find((r) => /^run 1: full sync of default failed/.test(r.msg));
    assert.ok(end !== undefined, run.stderr);
    assert.equal(end.level, 50);
    assert.equal(end.status, 'failed');
    assert.equal(typeof end.counts?.scanned, 'number');
    const fatal = records.find((r) => r.level === 50 && /\[TARGET_[A-Z_]+\]$/.test(r.msg));
    assert.ok(fatal !== undefined, 'the fatal error is a JSON line with its code');
    // The tenant's words are quoted, with the token it echoed taken out.
    assert.match(fatal.msg, /HTTP 400\): we did not expect the header Bearer \[redacted\]/i);
    assert.ok(!run.stderr.includes(token) && !run.stdout.includes(token), 'the token appears nowhere');
    assert.ok(!readFileSync(dir.file('s.db')).includes(token));
  });
});
