import type { BatchObservableCallback } from '@opentelemetry/api';
import { ATTR, METRIC } from './names.js';
import type { Telemetry } from './telemetry.js';

/** What the gauges read from the action runner at each collection. */
export interface SandboxCounts {
  /** Live isolates (0 until a code action loaded the sandbox). */
  isolates: number;
  /** Executions in flight, in process and sandboxed. */
  executions: number;
  /** Runaway suspensions in force. */
  suspensions: { actions: number; callers: number };
}

/**
 * Registers the router's observable gauges: `cte.sandbox.isolates`, `cte.action.executions` (in
 * flight) and `cte.action.suspensions` (`cte.suspension.scope` `action` or `caller`), read from
 * `counts` when the SDK collects. Each carries `cte.tenant`, so the routers of one process
 * report apart. Returns what unregisters them (`cte.close()`).
 */
export function observeSandbox(
  telemetry: Telemetry,
  tenant: string,
  counts: () => SandboxCounts,
): () => void {
  const { meter } = telemetry;
  const isolates = meter.createObservableGauge(METRIC.isolates, {
    description: 'Live isolated-vm isolates of the action sandbox',
    unit: '{isolate}',
  });
  const executions = meter.createObservableGauge(METRIC.executions, {
    description: 'Action executions in flight',
    unit: '{execution}',
  });
  const suspensions = meter.createObservableGauge(METRIC.suspensions, {
    description: 'Runaway actions suspended, for everyone (action) or for one caller (caller)',
    unit: '{suspension}',
  });
  const byTenant = Object.freeze({ [ATTR.tenant]: tenant });
  const ofActions = Object.freeze({ ...byTenant, [ATTR.suspensionScope]: 'action' });
  const ofCallers = Object.freeze({ ...byTenant, [ATTR.suspensionScope]: 'caller' });
  const observe: BatchObservableCallback = (result) => {
    const now = counts();
    result.observe(isolates, now.isolates, byTenant);
    result.observe(executions, now.executions, byTenant);
    result.observe(suspensions, now.suspensions.actions, ofActions);
    result.observe(suspensions, now.suspensions.callers, ofCallers);
  };
  const observables = [isolates, executions, suspensions];
  meter.addBatchObservableCallback(observe, observables);
  return () => meter.removeBatchObservableCallback(observe, observables);
}
