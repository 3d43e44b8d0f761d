import { checkWorkflow, formatProblem, workflowFiles } from './__tests__/workflows/references.ts';
for (const file of workflowFiles()) {
  const report = await checkWorkflow(file);
  console.log(file, JSON.stringify(report.checked), report.problems.map(formatProblem));
}
