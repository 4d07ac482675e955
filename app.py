"""The scooptrace Streamlit app (placeholder until the app issue lands)."""
