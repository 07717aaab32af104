"""The topic tree page: supervisors arrange the topics customers pick and link each to its
pool, skill, intake form, priority and SLA policy."""
