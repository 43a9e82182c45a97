/**
 * Where the cluster's state comes from, behind one interface: the Kubernetes API (list+watch), or a
 * directory of manifests (the demo, and clusters-in-a-folder for trying kbgp). Consumers get the
 * complete current state and a signal that it changed; they never see events.
 */
import type { EndpointSlice, Node, Service } from './objects.js';

export interface ClusterState {
  readonly services: readonly Service[];
  readonly endpointSlices: readonly EndpointSlice[];
  /** This node's Node object, if it exists. */
  readonly node: Node | undefined;
}

export interface SourceStatus {
  /** `kubernetes` or `manifests <dir>`. */
  readonly source: string;
  /** Every initial list is in: the state is complete. */
  readonly synced: boolean;
  /** The source is being followed now (watches up, directory readable). */
  readonly healthy: boolean;
  /** Per kind, words for the CLI and logs. */
  readonly detail: readonly {
    readonly name: string;
    readonly synced: boolean;
    readonly healthy: boolean;
    readonly objects: number;
    readonly lastError?: string;
    /** Changes seen, by type (watch event types for the API; reads for a directory). */
    readonly events?: Readonly<Record<string, number>>;
  }[];
}

export interface ClusterSource {
  /** `changed` is called after every change of the state (and once when it is first complete). */
  start(changed: () => void): void;
  stop(): void;
  state(): ClusterState;
  status(): SourceStatus;
}
