import { inputShapeArgs, inputShapeUsage } from './input-shapes.js';
import { inputValueArgs, inputValueUsage } from './input-values.js';
import { pipelineArgs, pipelineUsage } from './pipeline-options.js';
import { precisionArgs, precisionUsage } from './precision-options.js';

/** Options of the commands that compile a model: its inputs' shapes and values, precision and pipeline. */
export const modelOptionArgs = { ...inputShapeArgs, ...inputValueArgs, ...precisionArgs, ...pipelineArgs };

/** Their help text, closing those commands' usage. */
export const modelOptionsUsage = [inputShapeUsage, inputValueUsage, '', precisionUsage, '', pipelineUsage];
