/** Image references as Docker and Kubernetes read them: `registry:port/repo:tag@digest`. */

/** `repo:tag` → `repo` (a registry port is not a tag; a digest is dropped too). */
export function imageRepository(image: string): string {
  const noDigest = image.split('@')[0]!;
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > slash ? noDigest.slice(0, colon) : noDigest;
}

export function imageTag(image: string): string {
  const noDigest = image.split('@')[0]!;
  const repo = imageRepository(noDigest);
  return noDigest.length > repo.length ? noDigest.slice(repo.length + 1) : 'latest';
}
