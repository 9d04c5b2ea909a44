import type { Job } from './types.js';

/** The FIFO a job waits in: its lane if it has one, else its document. */
export function laneOf(job: Job): string {
  return (job.kind === 'load' ? job.lane : undefined) ?? job.documentId;
}

/** What completing a job records: its lane and sequence number. */
export interface JobRef {
  readonly id: string;
  readonly lane: string;
  readonly seq: number;
}

/** The completion record of a job. */
export function refOf(job: Job): JobRef {
  return { id: job.id, lane: laneOf(job), seq: job.seq };
}
