// Client networks such as "192.0.2.0/24" or "2001:db8::/32", matched with node's BlockList.
import net from "node:net";

function family(ip: string): "ipv4" | "ipv6" | null {
  const v = net.isIP(ip);
  return v === 4 ? "ipv4" : v === 6 ? "ipv6" : null;
}

/** Normalises one network (a bare address means a single host), or null when it is not one. */
export function parseCidr(input: string): { ip: string; prefix: number; type: "ipv4" | "ipv6" } | null {
  const [ip, bits, extra] = input.trim().split("/");
  const type = family(ip);
  if (!type || extra !== undefined) return null;
  const max = type === "ipv4" ? 32 : 128;
  if (bits !== undefined && !/^\d{1,3}$/.test(bits)) return null;
  const prefix = bits === undefined ? max : Number(bits);
  return prefix <= max ? { ip, prefix, type } : null;
}

/** Whether `address` (as a socket reports it; IPv4-mapped IPv6 included) lies in any of the networks. */
export function addressInNetworks(address: string, networks: string[]): boolean {
  if (!networks.length) return false;
  const plain = address.startsWith("::ffff:") && net.isIPv4(address.slice(7)) ? address.slice(7) : address;
  const type = family(plain);
  if (!type) return false;
  const list = new net.BlockList();
  for (const network of networks) {
    const parsed = parseCidr(network);
    if (parsed) list.addSubnet(parsed.ip, parsed.prefix, parsed.type);
  }
  return list.check(plain, type);
}
