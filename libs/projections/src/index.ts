export * from './read-models';
export * from './projector';
export * from './projections.module';
export * from './chain-check';
