/**
 * Who is calling. Both authentication paths (the API Gateway IAM authorizer in AWS, a bearer token locally) end in this
 * one shape, and domain code sees nothing else of the request's credentials.
 */
export type Principal =
  | {
      readonly kind: 'iam';
      /** The caller's IAM ARN as the authorizer reported it (user, role or assumed-role session). */
      readonly id: string;
      readonly accountId: string;
      readonly userId: string;
    }
  | {
      readonly kind: 'local-token';
      /** A stable name for the token holder, e.g. `local-admin`. Never the token itself. */
      readonly id: string;
    };
