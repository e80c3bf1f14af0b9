// Test servers that a container must reach listen on the host's side of Docker's default bridge.
import { execFileSync } from 'node:child_process';

/** The address containers reach the host at: the default bridge's gateway (its subnet's first address when unnamed). */
export function bridgeGateway(): string {
  const [ipam] = JSON.parse(execFileSync('docker', ['network', 'inspect', 'bridge', '--format', '{{json .IPAM.Config}}'], { encoding: 'utf8' })) as {
    Subnet: string;
    Gateway?: string;
  }[];
  return ipam.Gateway || ipam.Subnet.replace(/\.0\/\d+$/, '.1');
}
