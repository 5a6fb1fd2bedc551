import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, beforeEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { addSecret, configureLogging, log, logFormat, setLineHooks } from '../../src/observe/logger.ts';
import type { LogOptions } from '../../src/observe/logger.ts';

// Secrets added with addSecret stay for the process: each test uses its own values.

function capture(options: Omit<LogOptions, 'sink'> = {}): string[] {
  const lines: string[] = [];
  configureLogging({ ...options, sink: { write: (line: string) => lines.push(line) } });
  return lines;
}

function records(lines: readonly string[]): Record<string, unknown>[] {
  return lines.map((line) => {
    assert.ok(line.endsWith('\n'), `a line ends with a newline: ${JSON.stringify(line)}`);
    return JSON.parse(line) as Record<string, unknown>;
  });
}

beforeEach(() => setLineHooks(undefined));
after(() => {
  setLineHooks(undefined);
  configureLogging({});
});

describe('levels', () => {
  it('info by default: debug is filtered out', () => {
    const lines = capture();
    log().debug('hidden');
    log().info('shown');
    log().warn('warned');
    log().error('failed');
    assert.deepEqual(lines, ['phsync: shown\n', 'phsync: warned\n', 'phsync: failed\n']);
  });

  it('debug shows debug lines, with their prefix', () => {
    const lines = capture({ level: 'debug' });
    log().debug('details');
    log().info('news');
    assert.deepEqual(lines, ['phsync: debug: details\n', 'phsync: news\n']);
  });

  it('warn and error filter what is below them', () => {
    let lines = capture({ level: 'warn' });
    log().info('no');
    log().warn('yes');
    log().error('yes too');
    assert.deepEqual(lines, ['phsync: yes\n', 'phsync: yes too\n']);
    lines = capture({ level: 'error' });
    log().warn('no');
    log().error('only this');
    assert.deepEqual(lines, ['phsync: only this\n']);
  });

  it('silent writes nothing', () => {
    const lines = capture({ level: 'silent' });
    log().error('nothing');
    log().info('nothing');
    assert.deepEqual(lines, []);
  });

  it('configureLogging replaces the logger; logFormat tells the format', () => {
    capture({ format: 'json' });
    assert.equal(logFormat(), 'json');
    const lines = capture();
    assert.equal(logFormat(), 'text');
    log().info('text again');
    assert.deepEqual(lines, ['phsync: text again\n']);
  });
});

describe('formats', () => {
  it('text: the message only, no fields', () => {
    const lines = capture();
    log().info({ source: 'ldap', users: 3 }, 'ldap: full sync (first run)');
    log().error({ err: new Error('connection refused') });
    assert.deepEqual(lines, ['phsync: ldap: full sync (first run)\n', 'phsync: connection refused\n']);
  });

  it('json: pino NDJSON with level as a number, time, pid, the fields and msg', () => {
    const lines = capture({ format: 'json', level: 'debug' });
    const before = Date.now();
    log().info({ source: 'ldap', users: 3 }, 'synced');
    log().debug('details');
    assert.equal(lines.length, 2);
    const [info, debug] = records(lines);
    assert.ok(typeof info?.['time'] === 'number' && info['time'] >= before && info['time'] <= Date.now());
    assert.deepEqual(Object.keys(info), ['level', 'time', 'pid', 'source', 'users', 'msg']);
    assert.deepEqual({ ...info, time: 0 }, { level: 30, time: 0, pid: process.pid, source: 'ldap', users: 3, msg: 'synced' });
    assert.deepEqual({ ...debug, time: 0 }, { level: 20, time: 0, pid: process.pid, msg: 'details' });
  });

  it('json: an error logged as { err } keeps its type, message and stack', () => {
    const lines = capture({ format: 'json' });
    log().error({ err: new TypeError('bad input') }, 'failed');
    const [record] = records(lines);
    const err = record?.['err'] as Record<string, unknown>;
    assert.equal(err['type'], 'TypeError');
    assert.equal(err['message'], 'bad input');
    assert.match(String(err['stack']), /^TypeError: bad input\n\s+at /);
    assert.equal(record?.['msg'], 'failed');
  });
});

describe('secret redaction by value', () => {
  it('text: in the message, in the message of an error', () => {
    addSecret('hunter2-bind');
    const lines = capture();
    log().info('bind with hunter2-bind failed');
    log().error({ err: new Error('server said: bad password hunter2-bind') });
    log().info({ note: 'hunter2-bind' }, 'fields are not printed');
    assert.deepEqual(lines, ['phsync: bind with [REDACTED] failed\n', 'phsync: server said: bad password [REDACTED]\n', 'phsync: fields are not printed\n']);
  });

  it('json: in msg, in a field value, in a nested value and in an error message and stack', () => {
    addSecret('tok-5ecr3t-value');
    const lines = capture({ format: 'json' });
    log().info({ url: 'https://x/?t=tok-5ecr3t-value', nested: { deep: ['a', 'tok-5ecr3t-value'] } }, 'sent tok-5ecr3t-value twice: tok-5ecr3t-value');
    log().error({ err: new Error('refused tok-5ecr3t-value') });
    assert.ok(lines.every((line) => !line.includes('tok-5ecr3t-value')));
    const [info, error] = records(lines);
    assert.equal(info?.['msg'], 'sent [REDACTED] twice: [REDACTED]');
    assert.equal(info?.['url'], 'https://x/?t=[REDACTED]');
    assert.deepEqual(info?.['nested'], { deep: ['a', '[REDACTED]'] });
    const err = error?.['err'] as Record<string, unknown>;
    assert.equal(err['message'], 'refused [REDACTED]');
    assert.match(String(err['stack']), /^Error: refused \[REDACTED\]\n/);
    assert.equal(error?.['msg'], 'refused [REDACTED]');
  });

  it('a secret with a double quote or a backslash, in JSON (escaped) and in text (raw)', () => {
    const quoted = 'pa"ss\\w0rd';
    addSecret(quoted);
    const json = capture({ format: 'json' });
    log().warn({ password2: quoted, err: new Error(`login ${quoted} refused`) }, `tried ${quoted}`);
    assert.equal(json.length, 1);
    assert.ok(!json[0]!.includes('pa\\"ss\\\\w0rd'), json[0]);
    const [record] = records(json);
    assert.equal(record?.['password2'], '[REDACTED]');
    assert.equal(record?.['msg'], 'tried [REDACTED]');
    assert.equal((record?.['err'] as Record<string, unknown>)['message'], 'login [REDACTED] refused');

    const text = capture();
    log().warn(`tried ${quoted}, body ${JSON.stringify({ p: quoted })}`);
    assert.deepEqual(text, ['phsync: tried [REDACTED], body {"p":"[REDACTED]"}\n']);
  });

  it('json: a secret quoted as JSON inside a message (escaped twice in the line)', () => {
    const quoted = 'q"uote\\d-secret';
    addSecret(quoted);
    const lines = capture({ format: 'json' });
    log().error(`tenant answered ${JSON.stringify({ echo: quoted })}`);
    const [record] = records(lines);
    assert.equal(record?.['msg'], 'tenant answered {"echo":"[REDACTED]"}');
  });

  it('a secret containing another is redacted whole', () => {
    addSecret('inner-xyz');
    addSecret('outer-inner-xyz-end');
    const lines = capture();
    log().info('a outer-inner-xyz-end b inner-xyz c');
    assert.deepEqual(lines, ['phsync: a [REDACTED] b [REDACTED] c\n']);
  });

  it('an empty secret is ignored; a short one redacts even innocent text', () => {
    addSecret('');
    addSecret('zq');
    const lines = capture();
    log().info('nothing to hide');
    log().info('the zq chars');
    assert.deepEqual(lines, ['phsync: nothing to hide\n', 'phsync: the [REDACTED] chars\n']);
  });
});

describe('secret redaction by key', () => {
  it('password, token, ... at the top level and one level down', () => {
    const lines = capture({ format: 'json' });
    log().info({
      password: 'x',
      bindPassword: 'b',
      token: 't',
      authorization: 'Bearer abc',
      ntHash: 'aa',
      credential: 'v1;...',
      secret: 's',
      user: 'alice',
      bind: { password: 'y', dn: 'cn=admin' },
      headers: { authorization: 'Bearer def' },
    }, 'keys');
    const [record] = records(lines);
    assert.deepEqual({ ...record, time: 0 }, {
      level: 30,
      time: 0,
      pid: process.pid,
      password: '[REDACTED]',
      bindPassword: '[REDACTED]',
      token: '[REDACTED]',
      authorization: '[REDACTED]',
      ntHash: '[REDACTED]',
      credential: '[REDACTED]',
      secret: '[REDACTED]',
      user: 'alice',
      bind: { password: '[REDACTED]', dn: 'cn=admin' },
      headers: { authorization: '[REDACTED]' },
      msg: 'keys',
    });
  });

  it('the logged object itself is not modified', () => {
    capture({ format: 'json' });
    const fields = { password: 'x', bind: { password: 'y' } };
    log().info(fields, 'keys');
    assert.deepEqual(fields, { password: 'x', bind: { password: 'y' } });
  });
});

describe('line hooks', () => {
  it('before and after around each line written, not around filtered lines', () => {
    const events: string[] = [];
    configureLogging({ sink: { write: (line: string) => events.push(`write ${line.trimEnd()}`) } });
    setLineHooks({ before: () => events.push('before'), after: () => events.push('after') });
    log().info('one');
    log().debug('filtered');
    log().warn('two');
    assert.deepEqual(events, ['before', 'write phsync: one', 'after', 'before', 'write phsync: two', 'after']);
  });

  it('after runs even when the sink throws; undefined removes the hooks', () => {
    const events: string[] = [];
    configureLogging({ sink: { write: () => { throw new Error('sink broke'); } } });
    setLineHooks({ before: () => events.push('before'), after: () => events.push('after') });
    assert.throws(() => log().info('x'), /sink broke/);
    assert.deepEqual(events, ['before', 'after']);
    setLineHooks(undefined);
    const lines = capture();
    log().info('y');
    assert.deepEqual(events, ['before', 'after']);
    assert.deepEqual(lines, ['phsync: y\n']);
  });

  it('json lines get the hooks too', () => {
    const events: string[] = [];
    configureLogging({ format: 'json', sink: { write: () => events.push('write') } });
    setLineHooks({ before: () => events.push('before'), after: () => events.push('after') });
    log().info('j');
    assert.deepEqual(events, ['before', 'write', 'after']);
  });
});

describe('stderr', () => {
  it('the default sink writes synchronously: a line logged just before process.exit() is not lost', () => {
    const logger = fileURLToPath(new URL('../../src/observe/logger.ts', import.meta.url));
    const script = [
      `import { addSecret, configureLogging, log } from ${JSON.stringify(logger)};`,
      `log().info('default ' + 'x'.repeat(100000));`,
      `configureLogging({ format: 'json' });`,
      `addSecret('s3cr3t-at-exit');`,
      `log().warn({ password: 'p' }, 'last words s3cr3t-at-exit');`,
      `process.exit(3);`,
    ].join('\n');
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(child.status, 3, child.stderr);
    const [first, second, rest] = child.stderr.split('\n');
    assert.equal(first, `phsync: default ${'x'.repeat(100000)}`);
    const record = JSON.parse(second ?? '') as Record<string, unknown>;
    assert.equal(record['msg'], 'last words [REDACTED]');
    assert.equal(record['password'], '[REDACTED]');
    assert.equal(rest, '');
    assert.equal(child.stdout, '');
  });
});
