/** Why a list could not be shown (a filter value the core refused), announced to screen readers. */
export function ProblemAlert({ problem }: { problem: string | null }) {
  return problem ? (
    <p role="alert" className="mb-4 rounded-md bg-red-50 px-3 py-2 text-sm text-red-900">
      {problem}
    </p>
  ) : null;
}
