/*
 * Platforms: which of an index's images this machine can run.
 *
 * One tag (`alpine:latest`) usually names an *index*: a list of manifests, one per platform —
 * `linux/amd64`, `linux/arm64/v8`, `linux/arm/v7`, `linux/s390x`… A binary built for another CPU
 * cannot run here (without emulation), so the client picks the entry whose os and architecture
 * are the host's, in Go's names (Node's `x64` is Go's `amd64`). For arm64 the variant is `v8` or
 * absent, both meaning the same. Recent build tools add attestation entries (SBOMs, provenance)
 * with platform `unknown/unknown`: they are not images and are never picked, nor listed.
 */
import { LabError, badInput, quote } from '../errors';
import type { Descriptor, ImageIndex, Platform } from './manifest';

const GO_ARCHITECTURES: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

/** This machine's platform in the names images use. */
export function hostPlatform(): Platform {
  const architecture = GO_ARCHITECTURES[process.arch] ?? process.arch;
  return architecture === 'arm64' ? { os: 'linux', architecture, variant: 'v8' } : { os: 'linux', architecture };
}

export function formatPlatform(platform: Platform): string {
  return [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/');
}

/** `linux/arm64/v8` or `arm64` (Linux implied) as a Platform; a one-line error otherwise. */
export function parsePlatform(text: string): Platform {
  const parts = text.split('/');
  if (parts.length === 1) parts.unshift('linux');
  const [os, architecture, variant] = parts;
  if (parts.length > 3 || !os || !architecture || !parts.every((part) => /^[a-z0-9._-]+$/.test(part))) {
    throw badInput(`invalid platform ${quote(text)}: expected os/architecture[/variant], e.g. linux/arm64`);
  }
  return variant ? { os, architecture, variant } : { os, architecture };
}

function isAttestation(descriptor: Descriptor): boolean {
  return descriptor.platform?.os === 'unknown' || descriptor.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest';
}

function variantMatches(wanted: Platform, offered: Platform): boolean {
  if (!wanted.variant || !offered.variant) {
    // arm64 without a variant is v8; a variant-less request takes any variant of its architecture.
    return wanted.architecture !== 'arm64' || (wanted.variant ?? 'v8') === (offered.variant ?? 'v8');
  }
  return wanted.variant === offered.variant;
}

/** The manifest of `index` for `wanted`; a one-line error listing what is there when none fits. */
export function selectPlatformManifest(index: ImageIndex, wanted: Platform, what: string): Descriptor {
  const images = index.manifests.filter((descriptor) => !isAttestation(descriptor));
  const fits = images.filter((descriptor) => {
    const offered = descriptor.platform;
    return offered !== undefined && offered.os === wanted.os && offered.architecture === wanted.architecture && variantMatches(wanted, offered);
  });
  // An exact variant beats a variant-less entry (linux/arm/v7 over a bare linux/arm).
  const exact = fits.find((descriptor) => descriptor.platform?.variant === wanted.variant);
  const chosen = exact ?? fits[0];
  if (chosen) return chosen;
  const offered = images.map((descriptor) => (descriptor.platform ? formatPlatform(descriptor.platform) : 'no platform'));
  throw new LabError(
    'not-found',
    `${what} has no image for ${formatPlatform(wanted)}: it has ${offered.length ? [...new Set(offered)].join(', ') : 'no images at all'}`,
  );
}
