/**
 * What the handlers are given by the server: filled in as the registrations and backends land.
 */
export interface Services {
  startedAt: number;
  version: string;
}
