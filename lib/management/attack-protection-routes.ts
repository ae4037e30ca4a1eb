import { ManagementApiError } from './management-errors.js';
import type { ManagementRouteGroup } from './management-route.js';
import { param, recordChange, setEntityTag } from './management-route.js';

/**
 * `/attack-protection/suspicious-ip-throttling` (GET with `read:attack_protection`, PATCH with
 * `update:attack_protection`; both answer an `ETag`, and a PATCH with `If-Match` is refused with
 * 412 once the settings changed) and `/anomaly/blocks/ips/{ip}` (GET with `read:anomaly_blocks`:
 * 200 while the IP is blocked, 404 otherwise; DELETE with `delete:anomaly_blocks` unblocks it).
 */
export const attackProtectionRoutes: ManagementRouteGroup = (routes, { attackProtection }) => {
  const SETTINGS = '/attack-protection/suspicious-ip-throttling';

  routes.get(SETTINGS, 'read:attack_protection', async (_req, res) => {
    const settings = attackProtection.getSuspiciousIpThrottling();
    setEntityTag(res, attackProtection.suspiciousIpThrottlingTag());
    res.json(settings);
  });

  routes.patch(SETTINGS, 'update:attack_protection', async (req, res) => {
    const before = attackProtection.getSuspiciousIpThrottling();
    const ifMatch = req.get('If-Match');
    const after = await attackProtection.updateSuspiciousIpThrottling(
      req.body,
      ifMatch === undefined ? {} : { ifMatch },
    );
    recordChange(req, {
      description: 'Update suspicious IP throttling settings',
      target: { type: 'suspicious_ip_throttling', id: 'pre-custom-token-exchange' },
      before,
      after,
    });
    setEntityTag(res, attackProtection.suspiciousIpThrottlingTag());
    res.json(after);
  });

  routes.get('/anomaly/blocks/ips/:ip', 'read:anomaly_blocks', async (req, res) => {
    const status = await attackProtection.status(param(req, 'ip'));
    if (!status.blocked) {
      throw new ManagementApiError(
        404,
        'not_found',
        'IP address specified is not currently blocked.',
      );
    }
    res.status(200).end();
  });

  routes.delete('/anomaly/blocks/ips/:ip', 'delete:anomaly_blocks', async (req, res) => {
    const ip = param(req, 'ip');
    const before = await attackProtection.status(ip);
    await attackProtection.unblock(ip);
    recordChange(req, {
      description: 'Remove the block of an IP address',
      target: { type: 'anomaly_block', id: before.key },
      before: { blocked: before.blocked, remaining_attempts: before.remaining_attempts },
      after: { blocked: false, remaining_attempts: before.max_attempts },
    });
    res.status(204).end();
  });
};
