"""What leaves the numbers for a person: figures, tables, files and messages.

`theme` (colours), `charts` (plotly figure builders), `tables` (ranked tables with good/bad colour),
`presentation` (the seminar sequence and markdown escaping), `images` (PNG through kaleido), `export`
(Excel), `slides` (PowerPoint), `report` (the справка as DOCX and PDF), `mail` (sending it). No
streamlit. The numbers come from `oversight.analysis` (the справка and the deck assemble the pages'
own results); what these modules read through `oversight.store` themselves is names and data facts.
"""
