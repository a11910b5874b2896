// Progress of a quantization, from llama-quantize's line "[  12/ 272] name - [...], type = ...":
// {tensor, tensors, name, line}; summary lines give {line} only.
export function quantizeProgress(line) {
  const m = /^\[\s*(\d+)\/\s*(\d+)\]\s+(\S+)/.exec(line);
  return m ? { tensor: Number(m[1]), tensors: Number(m[2]), name: m[3], line } : { line };
}
