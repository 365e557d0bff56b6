// torch.optim.lr_scheduler, as kiln.optim.lrScheduler.
export * from './lr-scheduler.js';
export * from './lr-scheduler-more.js';
