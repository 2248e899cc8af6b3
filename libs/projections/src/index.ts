export * from './read-model-db';
export { ReadModelRowError, rowAtFault } from './decision-rows';
export * from './projections';
export * from './processor';
export * from './queries';
export * from './projections.module';
