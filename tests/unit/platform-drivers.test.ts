import { imageRepository, imageTag } from '../../workers/drivers/image-ref';
import { rolloutStatus } from '../../workers/drivers/kubernetes-driver';

describe('image references', () => {
  it.each([
    ['ghcr.io/acme/mcp:v1.2.3', 'ghcr.io/acme/mcp', 'v1.2.3'],
    ['localhost:5000/mcp:v1.0.0', 'localhost:5000/mcp', 'v1.0.0'],
    ['localhost:5000/mcp', 'localhost:5000/mcp', 'latest'],
    ['busybox', 'busybox', 'latest'],
    ['mcp:v2.0.0@sha256:abc', 'mcp', 'v2.0.0'],
  ])('%s is %s tagged %s', (image, repo, tag) => {
    expect(imageRepository(image)).toBe(repo);
    expect(imageTag(image)).toBe(tag);
  });
});

describe('rollout status (kubectl rollout status rules)', () => {
  const deployment = (generation: number, status: Record<string, unknown>, replicas = 3) =>
    ({
      metadata: { name: 'd', generation },
      spec: { replicas, template: { spec: { containers: [{ name: 'c', image: 'i' }] } } },
      status: { replicas: 0, updatedReplicas: 0, availableReplicas: 0, conditions: [], ...status },
    }) as unknown as Parameters<typeof rolloutStatus>[0];

  it('waits for the controller to observe the new generation', () => {
    expect(rolloutStatus(deployment(2, { observedGeneration: 1, replicas: 3, updatedReplicas: 3, availableReplicas: 3 })).done).toBe(false);
  });
  it('waits while old replicas remain or new ones are not available', () => {
    expect(rolloutStatus(deployment(2, { observedGeneration: 2, replicas: 4, updatedReplicas: 3, availableReplicas: 3 })).done).toBe(false);
    const partial = rolloutStatus(deployment(2, { observedGeneration: 2, replicas: 3, updatedReplicas: 2, availableReplicas: 3 }));
    expect(partial).toMatchObject({ done: false, progress: '2 of 3 updated' });
    expect(rolloutStatus(deployment(2, { observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 2 })).done).toBe(false);
  });
  it('is done when every wanted replica is updated and available', () => {
    expect(rolloutStatus(deployment(2, { observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 3 })).done).toBe(true);
    expect(rolloutStatus(deployment(2, { observedGeneration: 2 }, 0)).done).toBe(true);
  });
  it('fails when the progress deadline passed', () => {
    const s = rolloutStatus(
      deployment(2, { observedGeneration: 2, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "d-1" has timed out progressing.' }] }),
    );
    expect(s.failed).toMatch(/exceeded its progress deadline/);
  });
});
