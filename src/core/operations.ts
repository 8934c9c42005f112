/**
 * The operations this server implements, in one table: the generator reads it (which operations
 * get a validation subset), the config reads it (which endpoints a registration may list, the
 * capability each implies), model resolution quotes its paths, and the handler table must match it
 * (a test checks). Every other operation of the spec answers 501.
 *
 * "Endpoint" here, as everywhere in Understudy, means an operation a registration serves; an
 * upstream has URLs.
 */

/** The BackendInstance method that serves an endpoint. */
export type BackendMethod = "chat" | "completion" | "embeddings";

export interface OperationInfo {
  readonly id: string;
  readonly method: "get" | "post" | "delete";
  /** The path clients call. */
  readonly path: string;
  /** For an endpoint (served by a registration's backend): the capability it implies and the backend method. */
  readonly capability?: string;
  readonly backendMethod?: BackendMethod;
}

export const OPERATIONS = [
  { id: "createChatCompletion", method: "post", path: "/v1/chat/completions", capability: "chat", backendMethod: "chat" },
  { id: "createCompletion", method: "post", path: "/v1/completions", capability: "completion", backendMethod: "completion" },
  { id: "createEmbedding", method: "post", path: "/v1/embeddings", capability: "embeddings", backendMethod: "embeddings" },
  // Anthropic's Messages API rides on chat (translated by the anthropic surface, or spoken natively
  // by a backend that has `messages`), so it is served wherever chat is.
  { id: "createAnthropicMessage", method: "post", path: "/v1/messages", capability: "chat", backendMethod: "chat" },
  { id: "countAnthropicMessageTokens", method: "post", path: "/v1/messages/count_tokens", capability: "chat", backendMethod: "chat" },
  // Sourcegraph's completions API (Cody clients) rides on chat too, at the server's root; /code is
  // code completion (Sourcegraph's "autocomplete"), which a registration may leave out of its endpoints or capabilities.
  { id: "createSourcegraphChatCompletion", method: "post", path: "/.api/completions/stream", capability: "chat", backendMethod: "chat" },
  { id: "createSourcegraphCodeCompletion", method: "post", path: "/.api/completions/code", capability: "code_completion", backendMethod: "chat" },
  // OpenAI's Responses API rides on chat too (the responses surface translates, or a backend with
  // `responses` speaks it natively); the stored responses are read and deleted without a model.
  { id: "createResponse", method: "post", path: "/v1/responses", capability: "chat", backendMethod: "chat" },
  { id: "getResponse", method: "get", path: "/v1/responses/{response_id}" },
  { id: "deleteResponse", method: "delete", path: "/v1/responses/{response_id}" },
  { id: "listInputItems", method: "get", path: "/v1/responses/{response_id}/input_items" },
  { id: "listModels", method: "get", path: "/v1/models" },
  { id: "retrieveModel", method: "get", path: "/v1/models/{model}" },
] as const satisfies readonly OperationInfo[];

type Operation = (typeof OPERATIONS)[number];
export type OperationId = Operation["id"];
/** An operation a registration's backend serves (registrations list these as `endpoints`). */
export type EndpointId = Extract<Operation, { backendMethod: BackendMethod }>["id"];
export type Endpoint = Extract<Operation, { id: EndpointId }>;

export const IMPLEMENTED_OPERATIONS: ReadonlySet<string> = new Set(OPERATIONS.map((o) => o.id));
export const ENDPOINTS: readonly EndpointId[] = OPERATIONS.filter((o): o is Endpoint => "backendMethod" in o).map((o) => o.id);

const byId = new Map<string, Endpoint>(OPERATIONS.filter((o): o is Endpoint => "backendMethod" in o).map((o) => [o.id, o]));

export function endpoint(id: EndpointId): Endpoint {
  return byId.get(id)!;
}

/** The endpoints a backend with these methods serves: its default when a registration lists none. */
export function endpointsServedBy(methods: readonly BackendMethod[]): EndpointId[] {
  return ENDPOINTS.filter((id) => methods.includes(endpoint(id).backendMethod));
}
