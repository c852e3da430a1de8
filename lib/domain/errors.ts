/**
 * The one error hierarchy of the control plane. Every failure that reaches a caller is a `ControlPlaneError` with a
 * stable machine-readable `code`, an HTTP `status`, and a public `message` that is safe to show (it never contains a
 * CSR, a key, a token or a stack trace). The internal `cause` is for logs only, and even there only ids are logged.
 */
export class ControlPlaneError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: string,
    status: number,
    message: string,
    options: { details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.details = options.details;
  }
}

type ErrorOptions = { details?: Record<string, unknown>; cause?: unknown };

/** 400: the request is well-formed HTTP but its content is refused. */
export class ValidationError extends ControlPlaneError {
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(code, 400, message, options);
  }
}

/** 401: no credentials, or credentials that do not identify anybody. */
export class AuthenticationError extends ControlPlaneError {
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(code, 401, message, options);
  }
}

/** 403: the caller is known but may not do this. */
export class AuthorizationError extends ControlPlaneError {
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(code, 403, message, options);
  }
}

/** 404: the addressed resource or route does not exist. */
export class NotFoundError extends ControlPlaneError {
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(code, 404, message, options);
  }
}

/** 405: the route exists but not with this method. */
export class MethodNotAllowedError extends ControlPlaneError {
  constructor(message: string, options?: ErrorOptions) {
    super('METHOD_NOT_ALLOWED', 405, message, options);
  }
}

/** 409: the request conflicts with the current state. */
export class ConflictError extends ControlPlaneError {
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(code, 409, message, options);
  }
}

/** 413: the body is larger than the route accepts. */
export class PayloadTooLargeError extends ControlPlaneError {
  constructor(message: string, options?: ErrorOptions) {
    super('PAYLOAD_TOO_LARGE', 413, message, options);
  }
}

/** 415: the body is not of a media type the route accepts. */
export class UnsupportedMediaTypeError extends ControlPlaneError {
  constructor(message: string, options?: ErrorOptions) {
    super('UNSUPPORTED_MEDIA_TYPE', 415, message, options);
  }
}

/** 5xx: something on our side failed; the public message stays generic. */
export class InternalError extends ControlPlaneError {
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(code, 500, message, options);
  }
}
