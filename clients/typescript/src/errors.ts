import type { components } from "./generated/openapi.js";

export type ErrorCode = components["schemas"]["ErrorCode"];
export type ErrorDetail = components["schemas"]["ErrorDetail"];

/** Every failure of a call: the server's error shape (README "Errors"), typed. `network_error`
 * when no answer arrived, `unexpected_response` for one that is not the error shape (a
 * storage service's XML, a proxy's HTML page). */
export class FlowHubError extends Error {
  readonly status: number;
  readonly code: ErrorCode | "network_error" | "unexpected_response";
  readonly requestId: string | undefined;
  readonly details: ErrorDetail[];
  /** seconds, from `Retry-After` (429 and the busy 503) */
  readonly retryAfterS: number | undefined;

  constructor(
    status: number,
    code: FlowHubError["code"],
    message: string,
    extra: { requestId?: string; details?: ErrorDetail[]; retryAfterS?: number } = {},
  ) {
    super(message);
    this.name = "FlowHubError";
    this.status = status;
    this.code = code;
    this.requestId = extra.requestId;
    this.details = extra.details ?? [];
    this.retryAfterS = extra.retryAfterS;
  }

  /** The error of an answer whose body was already parsed (openapi-fetch's `error`). */
  static of(response: Response, body: unknown): FlowHubError {
    const retry = Number(response.headers.get("Retry-After"));
    const extra = {
      requestId: response.headers.get("X-Request-ID") ?? undefined,
      retryAfterS: Number.isFinite(retry) && retry > 0 ? retry : undefined,
    };
    const error = isErrorShape(body) ? body.error : undefined;
    if (error === undefined) {
      return new FlowHubError(response.status, "unexpected_response", response.statusText, extra);
    }
    return new FlowHubError(response.status, error.code, error.message, {
      ...extra,
      requestId: error.request_id || extra.requestId,
      details: error.details ?? [],
    });
  }

  /** The error of an answer not read yet. */
  static async from(response: Response): Promise<FlowHubError> {
    const body: unknown = await response.json().catch(() => undefined);
    return FlowHubError.of(response, body);
  }
}

function isErrorShape(body: unknown): body is components["schemas"]["ErrorResponse"] {
  if (typeof body !== "object" || body === null || !("error" in body)) return false;
  const error = (body as { error: unknown }).error;
  return typeof error === "object" && error !== null && "code" in error && "message" in error;
}
