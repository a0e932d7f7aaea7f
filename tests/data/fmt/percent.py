# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.16.0
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # A text notebook

# %%
import os,sys
values = [ 1,2,3 ]

# %%
# %matplotlib inline
def double( x ):
    return x*2
