/**
 * The shapes of /admin/api/*: the server's own declarations (src/http/admin/admin-json.ts), read
 * as types only (nothing of src/ is bundled), under the names the page uses.
 */
export type {
  WhoAmIJson as WhoAmI,
  ProblemJson as ConfigProblem,
  ConfigJson as ConfigState,
  UpstreamJson as UpstreamState,
  ModelJson as ModelState,
  OverviewJson as Overview,
  TrafficModelJson as ModelTraffic,
  TrafficSampleJson as TrafficSample,
  TrafficJson as Traffic,
  RecentRequestJson as RequestRow,
  RecentRequestsJson as RequestLog,
} from "../../src/http/admin/admin-json.js";
