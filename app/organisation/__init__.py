"""How the desk is organised: pools, skills and the topic tree."""
