export * from './replay';
export * from './tamper';
export * from './jobs';
export * from './reports';
