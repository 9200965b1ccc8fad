import type * as SageMaker from '@aws-sdk/client-sagemaker';
import { ModelshipError } from '../../errors/index.js';

/** The SageMaker SDK module, loaded on first use. */
export type SageMakerModule = typeof SageMaker;

/** Loads `@aws-sdk/client-sagemaker`, or DEPENDENCY_MISSING with the install command. */
export async function loadSageMaker(): Promise<SageMakerModule> {
  try {
    return await import('@aws-sdk/client-sagemaker');
  } catch (cause) {
    throw new ModelshipError(
      'DEPENDENCY_MISSING',
      'The SageMaker registry needs the optional peer dependency @aws-sdk/client-sagemaker: npm install @aws-sdk/client-sagemaker @aws-sdk/client-s3',
      { cause },
    );
  }
}
