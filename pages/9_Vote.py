"""Vote: students judge blind A/B pairs by eye; the lecturer reveals the eye's ranking beside the metrics'."""
import streamlit as st

from ui import classroom, page, state, vote

page.setup("Vote", icon=":material/how_to_vote:")
st.title("Blind A/B vote")
st.caption("Judge the results by eye before seeing any number: each of you gets pairs in an own order, sides "
           "drawn at random and the methods hidden.")
classroom.round_page("vote", state.VOTE_CODE, "Open a round (lecturer)", vote.round_form, vote.ballot, vote.reveal_view)
