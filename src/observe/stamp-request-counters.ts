// Requests proxied to each stamp, as the seed's /stampsz reports them. Counts live in an array
// indexed by the stamp's position in the table, so counting on the request path is one increment.

export interface StampszBody {
  total_requests: number;
  by_stamp: Record<string, number>;
  stamp_ids: string[];
}

export class StampRequestCounters {
  #ids: string[] = [];
  #counts: number[] = [];

  /** Adopts a new stamp list; counts of stamps that stay are kept, whatever their new position. */
  setStamps(ids: readonly string[]): void {
    const previous = new Map(this.#ids.map((id, i) => [id, this.#counts[i] ?? 0]));
    this.#ids = [...ids];
    this.#counts = ids.map((id) => previous.get(id) ?? 0);
  }

  increment(index: number): void {
    this.#counts[index]!++;
  }

  snapshot(): StampszBody {
    const byStamp: Record<string, number> = {};
    let total = 0;
    for (const [i, id] of this.#ids.entries()) {
      const count = this.#counts[i] ?? 0;
      byStamp[id] = count;
      total += count;
    }
    return { total_requests: total, by_stamp: byStamp, stamp_ids: [...this.#ids] };
  }
}
