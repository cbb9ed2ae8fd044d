import { BlockList, isIPv4, isIPv6 } from 'node:net';

/**
 * Whether a client address is one of ADMIN_ALLOW_FROM's (IPs, CIDRs, `loopback`). The address is the trusted client
 * address, so behind TRUSTED_PROXIES it is the forwarded one and a client cannot claim another by sending headers.
 */
export function adminAddresses(allowFrom: readonly string[]): (clientAddress: string) => boolean {
  const allowed = new BlockList();
  for (const entry of allowFrom) {
    if (entry === 'loopback') {
      allowed.addSubnet('127.0.0.0', 8, 'ipv4');
      allowed.addSubnet('::1', 128, 'ipv6');
      continue;
    }
    const [address = '', prefix] = entry.split('/');
    const family = isIPv4(address) ? 'ipv4' : 'ipv6';
    allowed.addSubnet(address, prefix === undefined ? (family === 'ipv4' ? 32 : 128) : Number(prefix), family);
  }
  return (clientAddress) => {
    // An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d; the list speaks of it as a.b.c.d.
    const address = clientAddress.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
    if (isIPv4(address)) return allowed.check(address, 'ipv4');
    return isIPv6(address) && allowed.check(address, 'ipv6');
  };
}
