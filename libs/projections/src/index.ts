export * from './read-model-db';
export * from './projections';
export * from './processor';
export * from './queries';
export * from './projections.module';
