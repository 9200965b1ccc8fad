/**
 * Registered-model tags and deletion as MLflow 2.10 answers them (`mlflow/server/handlers.py`
 * `_set_registered_model_tag`, `_delete_registered_model_tag`, `_delete_registered_model`;
 * `mlflow/store/model_registry/sqlalchemy_store.py`; limits from `mlflow/utils/validation.py`).
 */
import { ApiError } from './errors.js';

/** The part of a registered model these routes touch. */
export interface TaggedModel {
  readonly name: string;
  readonly tags: Map<string, string>;
}

/** `_validate_registered_model_tag`: key ≤ 250 characters, value ≤ 5,000 (MAX_REGISTERED_MODEL_TAG_*_LENGTH). */
export function validateRegisteredModelTag(key: unknown, value: unknown): void {
  if (typeof key !== 'string' || key === '')
    throw new ApiError(400, 'INVALID_PARAMETER_VALUE', "Missing value for required parameter 'key'.");
  if (key.length > 250)
    throw new ApiError(
      400,
      'INVALID_PARAMETER_VALUE',
      `Registered model key '${key}' had length ${key.length}, which exceeded length limit of 250`,
    );
  if (typeof value === 'string' && value.length > 5000)
    throw new ApiError(
      400,
      'INVALID_PARAMETER_VALUE',
      `Registered model value '${value.slice(0, 50)}…' had length ${value.length}, which exceeded length limit of 5000`,
    );
}

/**
 * The routes, or undefined for another route. `model(name)` throws 404 RESOURCE_DOES_NOT_EXIST like
 * `_get_registered_model`; `remove(name)` drops the model with its versions and aliases (cascade in the SQL store).
 */
export function registeredModelTagRoute(
  key: string,
  body: Record<string, unknown>,
  model: (name: string | undefined) => TaggedModel,
  remove: (name: string) => void,
): unknown {
  switch (key) {
    case 'POST registered-models/set-tag': {
      // SetRegisteredModelTag.Response() is empty: `{}`.
      validateRegisteredModelTag(body.key, body.value);
      model(body.name as string | undefined).tags.set(body.key as string, String(body.value ?? ''));
      return {};
    }
    case 'DELETE registered-models/delete-tag': {
      const m = model(body.name as string | undefined);
      if (!m.tags.has(body.key as string))
        throw new ApiError(
          404,
          'RESOURCE_DOES_NOT_EXIST',
          `No registered model tag with key ${String(body.key)} found for model ${m.name}`,
        );
      m.tags.delete(body.key as string);
      return {};
    }
    case 'DELETE registered-models/delete': {
      const m = model(body.name as string | undefined);
      remove(m.name);
      return {};
    }
    default:
      return undefined;
  }
}
