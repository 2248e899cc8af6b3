export * from './read-model-db';
export { ReadModelRowError, rowDamaged } from './decision-rows';
export * from './projections';
export * from './processor';
export * from './queries';
export * from './projections.module';
