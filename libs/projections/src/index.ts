export * from './read-models';
export * from './projector';
