// A set of addresses and CIDR ranges (IPv4 and IPv6) compiled into a node:net BlockList once, for
// ipAllowList's sourceRange and ipStrategy's excludedIPs. As in Go, an IPv4-mapped IPv6 address
// (`::ffff:10.0.0.1`, what a dual-stack socket reports) matches the IPv4 ranges, and, as in
// Traefik, an address with a port (`10.0.0.1:5678`, `[2001:db8::1]:443`) is checked without it.
import net from 'node:net';
import { MiddlewareConfigError } from './middleware.ts';

export type AddressTest = (address: string) => boolean;

/** Compiles `ranges` (`10.0.0.1`, `10.0.0.0/8`, `2001:db8::/32`) or throws naming `field` and the entry. */
export function compileAddressRanges(ranges: readonly string[], field: string): AddressTest {
  const list = new net.BlockList();
  ranges.forEach((entry, i) => {
    const text = entry.trim();
    const slash = text.indexOf('/');
    const address = withoutZone(slash < 0 ? text : text.slice(0, slash));
    const family = net.isIP(address);
    if (family === 0) throw new MiddlewareConfigError(`${field}[${i}]: ${JSON.stringify(entry)} is not an IP address or CIDR range`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (slash < 0) {
      list.addAddress(address, type);
      return;
    }
    const bits = text.slice(slash + 1);
    const max = family === 4 ? 32 : 128;
    if (!/^[0-9]{1,3}$/.test(bits) || Number(bits) > max) throw new MiddlewareConfigError(`${field}[${i}]: ${JSON.stringify(entry)} has an invalid prefix length (0-${max})`);
    list.addSubnet(address, Number(bits), type);
  });
  return (address) => {
    let bare = withoutZone(address);
    let family = net.isIP(bare);
    if (family === 0) {
      bare = withoutPort(bare);
      family = net.isIP(bare);
      if (family === 0) return false;
    }
    return list.check(bare, family === 4 ? 'ipv4' : 'ipv6');
  };
}

function withoutPort(address: string): string {
  if (address.charCodeAt(0) === 0x5b /* [ */) {
    const end = address.indexOf(']');
    return end < 0 ? address : address.slice(1, end);
  }
  const colon = address.indexOf(':');
  return colon < 0 || colon !== address.lastIndexOf(':') ? address : address.slice(0, colon);
}

function withoutZone(address: string): string {
  const percent = address.indexOf('%');
  return percent < 0 ? address : address.slice(0, percent);
}
