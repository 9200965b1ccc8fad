/** MLflow's error replies, as `mlflow/exceptions.py` serializes an MlflowException: `{"error_code", "message"}`. */

/** An MlflowException: the HTTP status its error code maps to (ERROR_CODE_TO_HTTP_STATUS), the code, the message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * `_validate_model_alias_name` (mlflow/utils/validation.py): 400 INVALID_PARAMETER_VALUE for an empty name,
 * characters other than alphanumerics, `_` and `-`, the reserved `latest` and version-like `v<N>`.
 */
export function validateAlias(alias: unknown): string {
  if (typeof alias !== 'string' || alias === '')
    throw new ApiError(400, 'INVALID_PARAMETER_VALUE', 'Registered model alias name cannot be empty.');
  if (!/^[\w-]*$/.test(alias))
    throw new ApiError(
      400,
      'INVALID_PARAMETER_VALUE',
      `Invalid alias name: '${alias}'. Names may only contain alphanumerics, underscores (_), and dashes (-).`,
    );
  if (alias.toLowerCase() === 'latest')
    throw new ApiError(400, 'INVALID_PARAMETER_VALUE', "'latest' alias name (case insensitive) is reserved.");
  if (/^[vV]\d+$/.test(alias))
    throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `Version alias name '${alias}' is reserved.`);
  return alias;
}
