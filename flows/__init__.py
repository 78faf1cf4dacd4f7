"""Prefect flows and deployments over the geoseg library (see README, "Deploying")."""
