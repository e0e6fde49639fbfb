// ipAllowList through real HTTP (the harness client is 127.0.0.1), and the shared client-ip,
// address-range and source-criterion helpers on their own.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { clientIpStrategy, forwardedForFromRight, rightMostNotExcluded } from '../../src/gateway/middleware/client-ip.ts';
import { ipAllowList, type IpAllowListConfig } from '../../src/gateway/middleware/ip-allow-list.ts';
import { compileAddressRanges } from '../../src/gateway/middleware/ip-ranges.ts';
import { MiddlewareConfigError } from '../../src/gateway/middleware/middleware.ts';
import { sourceKey } from '../../src/gateway/middleware/source-criterion.ts';
import type { Exchange } from '../../src/gateway/pipeline/exchange.ts';
import { problemOf, send, startHarness, testContext } from './middleware-harness.ts';

describe('ipAllowList', () => {
  const cases: Array<{ config: IpAllowListConfig; xff?: string; status: number; detail?: RegExp }> = [
    { config: { sourceRange: ['127.0.0.1'] }, status: 200 },
    { config: { sourceRange: ['10.0.0.0/8', '127.0.0.0/8'] }, status: 200 },
    { config: { sourceRange: ['10.0.0.0/8'] }, status: 403, detail: /client address 127\.0\.0\.1 is not in the source ranges that middleware "office" allows/ },
    { config: { sourceRange: ['10.0.0.0/8'], rejectStatusCode: 404 }, status: 404 },
    // The entrypoint's client address is used without an ipStrategy: X-Forwarded-For is not read.
    { config: { sourceRange: ['10.0.0.0/8'] }, xff: '10.1.1.1', status: 403 },
    { config: { sourceRange: ['10.0.0.0/8'], ipStrategy: { depth: 1 } }, xff: '1.2.3.4, 10.0.0.5', status: 200 },
    { config: { sourceRange: ['1.2.3.4'], ipStrategy: { depth: 2 } }, xff: '1.2.3.4, 10.0.0.5', status: 200 },
    { config: { sourceRange: ['1.2.3.4'], ipStrategy: { depth: 3 } }, xff: '1.2.3.4, 10.0.0.5', status: 403, detail: /found no client address by its ipStrategy/ },
    { config: { sourceRange: ['1.2.3.4'], ipStrategy: { depth: 1 } }, status: 403 },
    { config: { sourceRange: ['1.2.3.0/24'], ipStrategy: { excludedIPs: ['10.0.0.0/8', '192.168.0.1'] } }, xff: '1.2.3.4, 10.0.0.5,192.168.0.1', status: 200 },
    { config: { sourceRange: ['10.0.0.0/8'], ipStrategy: { excludedIPs: ['10.0.0.0/8'] } }, xff: '10.0.0.4, 10.0.0.5', status: 403 },
    // depth wins over excludedIPs, as in Traefik.
    { config: { sourceRange: ['10.0.0.5'], ipStrategy: { depth: 1, excludedIPs: ['10.0.0.0/8'] } }, xff: '1.2.3.4, 10.0.0.5', status: 200 },
    // An empty ipStrategy is the remote address.
    { config: { sourceRange: ['127.0.0.1'], ipStrategy: {} }, xff: '1.2.3.4', status: 200 },
  ];
  for (const c of cases) {
    test(`${JSON.stringify(c.config)}${c.xff === undefined ? '' : ` with X-Forwarded-For ${c.xff}`} → ${c.status}`, async () => {
      const harness = await startHarness(ipAllowList(c.config, testContext('office')));
      try {
        const reply = await send(harness, '/', { headers: c.xff === undefined ? {} : { 'x-forwarded-for': c.xff } });
        assert.equal(reply.status, c.status);
        if (c.status === 200) {
          assert.equal(harness.seen.length, 1);
          return;
        }
        assert.equal(harness.seen.length, 0);
        const body = problemOf(reply);
        assert.equal(body.type, 'https://stampgate.dev/problems/ip-not-allowed');
        assert.equal(body.status, c.status);
        assert.equal(body.title, c.status === 403 ? 'Forbidden' : 'Not Found');
        assert.equal(typeof body.requestId, 'string');
        if (c.detail) assert.match(body.detail, c.detail);
      } finally {
        await harness.close();
      }
    });
  }

  test('config errors', () => {
    const errors: Array<[IpAllowListConfig, RegExp]> = [
      [{ sourceRange: [] }, /sourceRange: at least one/],
      [{ sourceRange: ['10.0.0.0/8', 'not-an-ip'] }, /sourceRange\[1\]: "not-an-ip" is not an IP address or CIDR range/],
      [{ sourceRange: ['10.0.0.0/33'] }, /sourceRange\[0\]: "10\.0\.0\.0\/33" has an invalid prefix length \(0-32\)/],
      [{ sourceRange: ['2001:db8::/129'] }, /invalid prefix length \(0-128\)/],
      [{ sourceRange: ['10.0.0.0/x'] }, /invalid prefix length/],
      [{ sourceRange: ['10.0.0.1'], rejectStatusCode: 200 }, /rejectStatusCode: 200 is not a known error status/],
      [{ sourceRange: ['10.0.0.1'], rejectStatusCode: 499 }, /rejectStatusCode: 499/],
      [{ sourceRange: ['10.0.0.1'], ipStrategy: { excludedIPs: ['10.0.0.0/8', 'x'] } }, /ipStrategy\.excludedIPs\[1\]: "x" is not an IP address/],
    ];
    for (const [config, message] of errors) {
      assert.throws(() => ipAllowList(config, testContext()), (e: unknown) => e instanceof MiddlewareConfigError && message.test(e.message), JSON.stringify(config));
    }
  });
});

describe('address ranges', () => {
  test('IPv4, IPv6, IPv4-mapped and zoned addresses', () => {
    const inRange = compileAddressRanges(['10.0.0.0/8', '192.168.1.7', '2001:db8::/32', '::1', ' 172.16.0.0/12 '], 'ranges');
    const cases: Array<[string, boolean]> = [
      ['10.255.0.1', true], ['11.0.0.1', false], ['192.168.1.7', true], ['192.168.1.8', false],
      ['2001:db8:1::5', true], ['2001:db9::1', false], ['::1', true], ['::2', false],
      ['::ffff:10.1.2.3', true], ['::ffff:11.1.2.3', false], ['172.20.1.1', true],
      ['fe80::1%eth0', false], ['', false], ['garbage', false], ['10.0.0.1:80', true], ['[2001:db8::1]:443', true], ['[2001:db9::1]:443', false], ['11.0.0.1:80', false],
    ];
    for (const [address, expected] of cases) assert.equal(inRange(address), expected, address);
    assert.equal(compileAddressRanges(['fe80::/10'], 'r')('fe80::1%eth0'), true);
  });
});

describe('client ip', () => {
  test('X-Forwarded-For from the right', () => {
    const cases: Array<[string, number, string]> = [
      ['1.1.1.1, 2.2.2.2, 3.3.3.3', 1, '3.3.3.3'],
      ['1.1.1.1, 2.2.2.2, 3.3.3.3', 2, '2.2.2.2'],
      ['1.1.1.1, 2.2.2.2, 3.3.3.3', 3, '1.1.1.1'],
      ['1.1.1.1, 2.2.2.2, 3.3.3.3', 4, ''],
      ['1.1.1.1', 1, '1.1.1.1'],
      ['', 1, ''],
      ['', 2, ''],
      [',1.1.1.1', 2, ''],
      ['1.1.1.1,,2.2.2.2', 2, ''],
      ['  1.1.1.1  ,2.2.2.2', 2, '1.1.1.1'],
    ];
    for (const [list, depth, expected] of cases) assert.equal(forwardedForFromRight(list, depth), expected, `${JSON.stringify(list)} depth ${depth}`);
  });

  test('right-most X-Forwarded-For entry not excluded', () => {
    const excluded = compileAddressRanges(['10.0.0.0/8'], 'x');
    const cases: Array<[string, string]> = [
      ['1.1.1.1, 10.0.0.1, 10.0.0.2', '1.1.1.1'],
      ['10.0.0.1, 10.0.0.2', ''],
      ['1.1.1.1, 2.2.2.2', '2.2.2.2'],
      ['', ''],
      ['junk, 10.0.0.1', 'junk'], // as Traefik: an entry that is not an address is not excluded
    ];
    for (const [list, expected] of cases) assert.equal(rightMostNotExcluded(list, excluded), expected, list);
  });

  test('strategies on an exchange', () => {
    const exchange = fakeExchange({ 'x-forwarded-for': '1.1.1.1, 2.2.2.2' }, { clientIp: '9.9.9.9' });
    assert.equal(clientIpStrategy(undefined, 's')(exchange), '9.9.9.9');
    assert.equal(clientIpStrategy({}, 's')(exchange), '9.9.9.9');
    assert.equal(clientIpStrategy({ depth: 0 }, 's')(exchange), '9.9.9.9');
    assert.equal(clientIpStrategy({ depth: 2 }, 's')(exchange), '1.1.1.1');
    assert.equal(clientIpStrategy({ excludedIPs: ['2.2.2.2'] }, 's')(exchange), '1.1.1.1');
    assert.throws(() => clientIpStrategy({ depth: -1 }, 'ipStrategy'), /ipStrategy\.depth: must be a whole number/);
  });
});

describe('source criterion', () => {
  const exchange = fakeExchange({ 'x-api-key': 'k1', 'x-forwarded-for': '5.5.5.5' }, { clientIp: '9.9.9.9', host: 'shop.example.com', tenant: 'acme' });
  test('each source, and each default', () => {
    assert.equal(sourceKey(undefined, 'ip', 'sc')(exchange), '9.9.9.9');
    assert.equal(sourceKey(undefined, 'host', 'sc')(exchange), 'shop.example.com');
    assert.equal(sourceKey({}, 'host', 'sc')(exchange), 'shop.example.com');
    assert.equal(sourceKey({ ipStrategy: { depth: 1 } }, 'host', 'sc')(exchange), '5.5.5.5');
    assert.equal(sourceKey({ requestHeaderName: 'X-Api-Key' }, 'ip', 'sc')(exchange), 'k1');
    assert.equal(sourceKey({ requestHeaderName: 'X-Missing' }, 'ip', 'sc')(exchange), '');
    assert.equal(sourceKey({ requestHost: true }, 'ip', 'sc')(exchange), 'shop.example.com');
    assert.equal(sourceKey({ tenant: true }, 'ip', 'sc')(exchange), 'acme');
    assert.equal(sourceKey({ tenant: true }, 'ip', 'sc')(fakeExchange({}, {})), '');
  });

  test('sources are mutually exclusive', () => {
    assert.throws(() => sourceKey({ ipStrategy: {}, requestHost: true }, 'ip', 'sourceCriterion'), (e: unknown) => e instanceof MiddlewareConfigError && e.message === 'sourceCriterion: ipStrategy and requestHost are mutually exclusive; choose one');
    assert.throws(() => sourceKey({ requestHeaderName: 'x', tenant: true }, 'ip', 'sc'), /requestHeaderName and tenant are mutually exclusive/);
  });
});

function fakeExchange(headers: Record<string, string>, fields: { clientIp?: string; host?: string; tenant?: string }): Exchange {
  return { req: { headers }, clientIp: fields.clientIp ?? '', host: fields.host ?? '', tenant: fields.tenant ?? null } as unknown as Exchange;
}
