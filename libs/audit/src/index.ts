export * from './replay';
export * from './tamper';
