/*
 * Hairpin mode: letting a bridge send a frame back out of the port it came in by.
 *
 * A container that opens its OWN published port through the host (10.77.0.2 → gateway:8080,
 * DNAT back to 10.77.0.2:80) needs its packet to turn around. When the host routes it (plain
 * bridge: the frame goes up to the bridge's own interface, DNAT, routing, and down again), the
 * turn happens at layer 3 and the bridge sees an ordinary frame from the host to the container.
 * But when the kernel module br_netfilter is loaded (Docker and Kubernetes load it; then
 * net.bridge.bridge-nf-call-iptables is 1), netfilter's IP hooks also run for frames *inside* the
 * bridge, and br_netfilter, seeing the DNAT target on the same bridge, switches the frame at
 * layer 2 straight back towards the container's port — the one it arrived on. A bridge never does
 * that (a switch would loop frames) unless the port's hairpin_mode is on, so the packet is dropped
 * and the connection hangs.
 *
 * So the host end of a publishing container's veth gets hairpin_mode 1 — what Docker does too.
 * It is a property of the bridge port, /sys/class/net/<veth>/brport/hairpin_mode (`ip link set
 * <veth> type bridge_slave hairpin on`), and it goes with the veth when the container's network
 * does. Its one side effect: the container also gets back its own broadcasts (ARP requests),
 * which IPv4 ignores.
 */
import { writeFileSync } from 'node:fs';

export function enableHairpin(bridgePort: string): void {
  writeFileSync(`/sys/class/net/${bridgePort}/brport/hairpin_mode`, '1');
}
