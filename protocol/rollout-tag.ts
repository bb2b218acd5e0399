/**
 * The entity tag of a rollout at config version `configVersion` (`"4"`): the `ETag` of
 * `GET /v1/models/:model/rollout`, and the `If-Match` a rollout change sends to apply only to
 * that rollout (docs/registry.md "Rollout"). The collector, the CLI and the dashboard write it
 * with this one function, so they agree on it.
 *
 * @param configVersion - the rollout's config version
 */
export function rolloutTag(configVersion: number): string {
  return `"${configVersion}"`;
}
