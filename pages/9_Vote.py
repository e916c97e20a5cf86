"""Vote: students judge blind A/B pairs by eye; the lecturer reveals the eye's ranking beside the metrics'."""
import streamlit as st

from ui import classroom, page, state, vote

page.setup("Vote", icon=":material/how_to_vote:")
st.title("Blind A/B vote")
st.caption("Judge the results by eye before seeing any number: each of you gets pairs in an own order, sides "
           "drawn at random and the methods hidden.")
if classroom.lecturer():
    with st.expander("Open a round (lecturer)", icon=":material/add_circle:",
                     expanded=not classroom.joining(state.VOTE_CODE)):
        vote.round_form()
joined = classroom.join("vote", state.VOTE_CODE)
if joined is not None:
    if classroom.lecturer():
        classroom.show_code(joined)
    vote.ballot(joined)
    if classroom.lecturer():
        st.divider()
        vote.reveal_view(joined)
